"""SPOILERS: reference answers to the workshop's exercises. Try the exercise first."""
