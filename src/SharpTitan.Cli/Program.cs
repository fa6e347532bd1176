return SharpTitan.Cli.Commands.CommandLine.Run(args);
