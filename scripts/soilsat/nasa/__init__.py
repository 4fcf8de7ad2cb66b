"""NASA Earthdata products: SMAP (HDF5, EASE-Grid 2.0) and MODIS (HDF4-EOS, sinusoidal tiles) readers."""
