"""soilsat: soil moisture and soil properties from Copernicus Sentinel-1/2."""

__version__ = "0.1.0"

COPERNICUS_ATTRIBUTION = "Contains modified Copernicus Sentinel data"
