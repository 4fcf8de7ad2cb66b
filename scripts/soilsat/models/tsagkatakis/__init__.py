"""Tsagkatakis et al. (2021): soil moisture from fine sigma0 fused with coarse radiometer patches."""
