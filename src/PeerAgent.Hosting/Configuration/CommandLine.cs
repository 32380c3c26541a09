namespace PeerAgent.Hosting.Configuration;

/// <summary>
/// The arguments a process takes: <c>--help</c> (<c>-h</c>), <c>--version</c>, or configuration keys
/// (<c>--Section:Key=value</c> or <c>--Section:Key value</c>). Anything else is refused rather than silently ignored,
/// as the configuration's command-line source would.
/// </summary>
public static class CommandLine
{
    /// <summary>
    /// Answers <c>--help</c> and <c>--version</c> (status 0), or refuses arguments that are not configuration (status 2),
    /// before anything is built. Null: run with <paramref name="args"/> as configuration.
    /// </summary>
    public static async Task<int?> TryAnswerAsync(IReadOnlyList<string> args, Usage usage, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(usage);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var problems = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            switch (arg)
            {
                case "--help" or "-h":
                    await output.WriteAsync(usage.Render());
                    return 0;
                case "--version":
                    await output.WriteLineAsync($"{usage.Command} {usage.Version}");
                    return 0;
            }

            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2 || arg[2] == '=')
            {
                problems.Add($"'{arg}' is not an option; configuration is given as --Section:Key=value or --Section:Key value.");
            }
            else if (!arg.Contains('=', StringComparison.Ordinal))
            {
                // "--Key value": the next argument is the value, unless it is another option.
                if (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal) && args[i + 1] != "-h")
                {
                    i++;
                }
                else
                {
                    problems.Add($"'{arg}' has no value; write {arg}=value or {arg} value.");
                }
            }
        }

        if (problems.Count == 0)
        {
            return null;
        }

        foreach (var problem in problems)
        {
            await error.WriteLineAsync("usage error: " + problem);
        }

        await error.WriteLineAsync($"Run '{usage.Command} --help' for usage.");
        return ConfigurationValidation.ExitCode;
    }
}
