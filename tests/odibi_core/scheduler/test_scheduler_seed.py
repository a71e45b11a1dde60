"""The seed's Step 14 TestScheduleManager, verbatim (real time: about 2.5 s)."""

import time

from odibi_core.scheduler import ScheduleManager


class TestScheduleManager:
    """Test ScheduleManager functionality."""

    def test_interval_scheduling(self):
        """Test interval-based scheduling."""
        execution_count = [0]

        def test_job():
            execution_count[0] += 1

        scheduler = ScheduleManager(check_interval=0.5)

        # Schedule every 1 second
        scheduler.schedule_interval(
            seconds=1,
            function=test_job,
            name="interval_test"
        )

        scheduler.start(daemon=True)
        time.sleep(2.5)  # Should execute ~2 times
        scheduler.stop()

        assert execution_count[0] >= 2

    def test_schedule_status(self):
        """Test schedule status retrieval."""
        def dummy_job():
            pass

        scheduler = ScheduleManager()
        scheduler.schedule_interval(seconds=10, function=dummy_job, name="status_test")

        status = scheduler.get_status()

        assert status["schedule_count"] == 1
        assert "status_test" in status["schedules"]
