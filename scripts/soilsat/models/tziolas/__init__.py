"""Tziolas et al. (2020): topsoil clay from bare-soil series, bagged multi-input CNN, RF and ANN."""
