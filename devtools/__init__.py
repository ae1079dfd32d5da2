"""Developer tools that ship with vibehq but are no part of its engine."""
