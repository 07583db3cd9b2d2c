"""The Locust peer of `tracemart load --profile ping`: one GET per user iteration, no wait."""

from locust import FastHttpUser, task


class Ping(FastHttpUser):
    @task
    def ping(self):
        self.client.get("/")
