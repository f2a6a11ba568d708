"""Microservice chassis: infrastructure shared by every service, and nothing else."""
