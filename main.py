"""vibehq's console-script entry (`vibehq = "main:run"`): the app lives in `cli/`."""

# Set before anything can import litellm or crewai: no price-map fetch, no telemetry.
import engine.offline_env  # noqa: F401


def run() -> None:
    """Run the vibehq CLI: usage errors become one line and exit 2, never a traceback."""
    from cli.app import run_app

    run_app()


if __name__ == "__main__":
    run()
