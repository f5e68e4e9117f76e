"""Search: query building, ``muniwatch search``, links into Kibana and Kibana assets."""
