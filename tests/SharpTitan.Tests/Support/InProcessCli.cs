using SharpTitan.Cli.Commands;

namespace SharpTitan.Tests.Support;

/// <summary>Runs `sharptitan ARGS...` in this process and captures what it prints.</summary>
public static class InProcessCli
{
    public sealed record Result(int Code, string Out, string Err);

    public static Result Run(params string[] args)
    {
        var (savedOut, savedErr) = (Console.Out, Console.Error);
        var (output, error) = (new StringWriter(), new StringWriter());
        try
        {
            Console.SetOut(output);
            Console.SetError(error);
            int code = CommandLine.Run(args);
            return new Result(code, output.ToString(), error.ToString());
        }
        finally
        {
            Console.SetOut(savedOut);
            Console.SetError(savedErr);
        }
    }
}
