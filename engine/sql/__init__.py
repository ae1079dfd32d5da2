"""SQL text: one tokenizer, and the classifier built on it (statement kind, tables, shape)."""
