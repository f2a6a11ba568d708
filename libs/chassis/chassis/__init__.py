"""Microservice chassis: infrastructure shared by every service, and nothing else."""

import warnings

# nameko runs on eventlet, a decision already taken (see ARCHITECTURE.md); its import-time
# deprecation banner would otherwise open every log and command output.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
