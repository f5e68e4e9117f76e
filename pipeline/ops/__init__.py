"""Operations: the status figures and daily maintenance."""
