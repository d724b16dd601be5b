"""The risk API's HTML: the member risk fragment, the ops page, its login, the CSV export."""
