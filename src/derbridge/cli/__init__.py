"""The derbridge command line: run the systems, inspect them, drive them, measure them.

This module is its table of contents. Each system's commands live in a package of their own (hub/, dacs/,
derms/), the tools that drive or measure the systems in tools/, what they share in support.py. `derbridge
--help` lists the commands grouped the same way.
"""

from __future__ import annotations

import typer

from derbridge.cli import hub, running
from derbridge.cli.dacs import aggregators, enrollments, legacy, program_events, programs, scores
from derbridge.cli.dacs.customer_choices import optouts_app, unavailability_app
from derbridge.cli.dacs.network import where
from derbridge.cli.derms import availability, events, headend, network, registry, score_sets
from derbridge.cli.hub import doctor, lookups, notifications
from derbridge.cli.tools import bench, cis, dataset, demo

RUN, HUB, DACS, DERMS, TOOLS = "Run the systems", "Hub", "Program system", "DERMS and its head ends", "Tools"

app = typer.Typer(help="derbridge: connects a utility's program system (DACS role) with its DERMS.",
                  no_args_is_help=True, add_completion=False)

app.command("up", rich_help_panel=RUN)(running.up)
app.command("hub", rich_help_panel=RUN)(running.hub)
app.command("dacs", rich_help_panel=RUN)(running.dacs)
app.command("derms", rich_help_panel=RUN)(running.derms)
app.command("config", rich_help_panel=RUN)(running.show_config)
app.command("migrate", rich_help_panel=RUN)(running.migrate)
app.command("credentials", rich_help_panel=RUN)(running.credentials)

app.command("messages", rich_help_panel=HUB)(hub.messages)
app.command("resubmit", rich_help_panel=HUB)(hub.resubmit)
app.command("notifications", rich_help_panel=HUB)(notifications.notifications)
app.command("doctor", rich_help_panel=HUB)(doctor.doctor)
app.add_typer(lookups.app, name="lookups", rich_help_panel=HUB)

app.add_typer(aggregators.app, name="aggregator", rich_help_panel=DACS)
app.add_typer(programs.programs_app, name="programs", rich_help_panel=DACS)
app.add_typer(programs.rules_app, name="rules", rich_help_panel=DACS)
app.add_typer(enrollments.enrollments_app, name="enrollments", rich_help_panel=DACS)
app.add_typer(enrollments.devices_app, name="devices", rich_help_panel=DACS)
app.add_typer(legacy.app, name="legacy", rich_help_panel=DACS)
app.add_typer(scores.app, name="scores", rich_help_panel=DACS)
app.add_typer(optouts_app, name="optouts", rich_help_panel=DACS)
app.add_typer(unavailability_app, name="unavailability", rich_help_panel=DACS)
app.add_typer(program_events.app, name="program-events", rich_help_panel=DACS)

network.app.command("where")(where)
app.add_typer(network.app, name="network", rich_help_panel=DERMS)
app.add_typer(registry.app, name="registry", rich_help_panel=DERMS)
app.add_typer(score_sets.app, name="score-sets", rich_help_panel=DERMS)
app.add_typer(availability.app, name="availability", rich_help_panel=DERMS)
app.add_typer(events.app, name="events", rich_help_panel=DERMS)
app.add_typer(headend.app, name="headend", rich_help_panel=DERMS)

app.add_typer(dataset.app, name="dataset", rich_help_panel=TOOLS)
app.add_typer(cis.app, name="cis", rich_help_panel=TOOLS)
app.command("demo", rich_help_panel=TOOLS)(demo.demo)
app.command("bench", rich_help_panel=TOOLS)(bench.bench)
