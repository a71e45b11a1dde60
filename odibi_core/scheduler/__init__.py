"""Scheduling: run jobs every N seconds, on cron times, when files arrive, or on demand.

Modules:
    model: ScheduleMode, Schedule, MisfirePolicy and JobRun (plain records).
    triggers: next due times of interval and cron schedules (cron via ``cronsim``).
    file_watch: FileWatcher, the new-and-complete-files check of FILE_WATCH schedules.
    schedule_manager: ScheduleManager, the loop that wakes at the next due time and runs
        jobs on worker threads.
"""

from __future__ import annotations

from .file_watch import FileWatcher
from .model import JobRun, MisfirePolicy, Schedule, ScheduleMode, UnknownScheduleError
from .schedule_manager import ScheduleManager
from .triggers import CronTrigger, IntervalTrigger, Trigger

__all__ = [
    "CronTrigger",
    "FileWatcher",
    "IntervalTrigger",
    "JobRun",
    "MisfirePolicy",
    "Schedule",
    "ScheduleManager",
    "ScheduleMode",
    "Trigger",
    "UnknownScheduleError",
]
