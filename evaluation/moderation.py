"""Who sees an entry on the leaderboard: hidden by an admin, public, a baseline."""

from evaluation.models import Entry


def set_hidden(entry: Entry, hidden: bool) -> Entry:
    Entry.objects.filter(pk=entry.pk).update(is_hidden=hidden)
    entry.is_hidden = hidden
    return entry


def set_public(entry: Entry, public: bool) -> Entry:
    Entry.objects.filter(pk=entry.pk).update(is_public=public)
    entry.is_public = public
    return entry


def set_baseline(entry: Entry, baseline: bool) -> Entry:
    Entry.objects.filter(pk=entry.pk).update(is_baseline=baseline)
    entry.is_baseline = baseline
    return entry
