"""One module per command group: parse the arguments, make one engine call, render."""
