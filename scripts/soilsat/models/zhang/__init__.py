"""Zhang et al. (2022): soil organic carbon, CNN-LSTM and random forest under repeated k-fold CV."""
