"""Student exercises, one module per lesson; solutions sit between BEGIN/END SOLUTION markers."""
