using System.CommandLine;
using Monitoring.Cli;

var root = new RootCommand("The MCP alerting cluster's command line: configuration as code (validate, diff, apply, export, routes test) and the day-to-day verbs (status, incidents, silence, servers).");
ConfigCommands.AddTo(root);
RoutesCommands.AddTo(root);
OpsCommands.AddTo(root);
Monitoring.Cli.Import.ImportCommands.AddTo(root);
return await root.Parse(args).InvokeAsync();
