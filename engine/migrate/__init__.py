"""File migrator: manifest-driven moves of STAGING folders into the workspace, import
rewrites found with a real TypeScript parser, the SQL finder, and batch runs."""
