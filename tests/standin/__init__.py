"""Local PagerDuty stand-in server and schema helper for tests."""
