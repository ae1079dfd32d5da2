"""Tree-sitter helpers shared by the finder, the rewriters and the quality monitor."""
