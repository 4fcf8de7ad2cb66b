"""Soil-moisture reference products that studies compare with: CGLS SSM 1 km (CSM) and ESA CCI SM (ECV_SM)."""
