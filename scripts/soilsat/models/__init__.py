"""Models of the reproduced studies, one subpackage a study, and the pieces they share beside them."""
