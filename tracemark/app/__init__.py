"""The main window, its actions and the command line: wires io_backends to widgets."""
