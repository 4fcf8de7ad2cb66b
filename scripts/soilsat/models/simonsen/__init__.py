"""Simonsen (2021): daily soil moisture at probes, seq2seq LSTM under leave-one-probe-out, its rivals."""
