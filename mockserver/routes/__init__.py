"""The fake's route table, by concern: the vendor's API, served images, and the admin API."""
