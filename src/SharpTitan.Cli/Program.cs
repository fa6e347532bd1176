return SharpTitan.Commands.CommandLine.Run(args);
