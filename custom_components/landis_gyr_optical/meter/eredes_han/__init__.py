"""E-Redes HAN: the Portuguese meters' RS-485 port, Modbus RTU with DEF-C44-509's register map."""
