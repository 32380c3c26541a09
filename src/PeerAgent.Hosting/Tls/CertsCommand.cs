using System.Globalization;
using System.Net;
using System.Security.Cryptography;

namespace PeerAgent.Hosting.Tls;

/// <summary>
/// <c>certs ca</c> and <c>certs issue</c>: a cluster CA and node certificates for clusters without cert-manager.
/// Exit codes: 0 written, 1 refused or failed (files exist, CA unreadable, I/O), 2 usage error.
/// </summary>
public static class CertsCommand
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int UsageError = 2;

    private const int DefaultCaDays = 3650;
    private const int DefaultIssueDays = 365;
    private const int MaxDays = 36500;

    /// <summary>Backdating against clock skew between the node that issues and the nodes that check.</summary>
    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);

    /// <param name="args">The arguments after <c>certs</c>.</param>
    /// <param name="program">How the usage text names the program, e.g. <c>PeerAgent.Agent</c>.</param>
    public static int Run(IReadOnlyList<string> args, TextWriter output, TextWriter error, TimeProvider time, string program = "PeerAgent.Agent")
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        ArgumentNullException.ThrowIfNull(time);
        if (args.Count == 0 || args[0] is "--help" or "-h" or "help")
        {
            (args.Count == 0 ? error : output).Write(Usage(program));
            return args.Count == 0 ? UsageError : Success;
        }

        if (!TryParse(args.Skip(1), out var options, out var problem))
        {
            return Usage(error, program, problem);
        }

        if (options.Help)
        {
            output.Write(Usage(program));
            return Success;
        }

        return args[0] switch
        {
            "ca" => RunCa(options, output, error, time, program),
            "issue" => RunIssue(options, output, error, time, program),
            _ => Usage(error, program, $"unknown command '{args[0]}' (known: ca, issue)"),
        };
    }

    private static int RunCa(Options options, TextWriter output, TextWriter error, TimeProvider time, string program)
    {
        if (options.Unexpected("ca", "--out", "--name", "--days", "--force") is { } unexpected)
        {
            return Usage(error, program, unexpected);
        }

        if (options.Out is null)
        {
            return Usage(error, program, "certs ca needs --out DIR");
        }

        if (!TryDays(options, DefaultCaDays, out var days, out var problem))
        {
            return Usage(error, program, problem);
        }

        var now = time.GetUtcNow();
        try
        {
            using var ca = CertificateAuthority.Create(options.Name ?? CertificateAuthority.DefaultName, now - ClockSkew, now.AddDays(days));
            var written = ca.WriteTo(options.Out, options.Force);
            foreach (var path in written)
            {
                output.WriteLine($"wrote {path}");
            }

            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"CA '{ca.Certificate.Subject}' valid until {ca.Certificate.NotAfter.ToUniversalTime():u}; keep {CertificateAuthority.KeyFileName} secret."));
            return Success;
        }
        catch (CertificateFilesExistException ex)
        {
            error.WriteLine($"certs ca: {ex.Message}; pass --force to replace the CA (every certificate it issued stops being trusted).");
            return Failure;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"certs ca: cannot write to {options.Out}: {ex.Message}");
            return Failure;
        }
    }

    private static int RunIssue(Options options, TextWriter output, TextWriter error, TimeProvider time, string program)
    {
        if (options.Unexpected("issue", "--ca", "--name", "--out", "--ip", "--dns", "--days", "--force") is { } unexpected)
        {
            return Usage(error, program, unexpected);
        }

        var missing = new[] { ("--ca DIR", options.Ca), ("--name NODE", options.Name), ("--out DIR", options.Out) }
            .Where(o => o.Item2 is null).Select(o => o.Item1).ToList();
        if (missing.Count > 0)
        {
            return Usage(error, program, $"certs issue needs {string.Join(", ", missing)}");
        }

        if (!TryDays(options, DefaultIssueDays, out var days, out var problem))
        {
            return Usage(error, program, problem);
        }

        var addresses = new List<IPAddress>();
        foreach (var ip in options.Ips)
        {
            if (!IPAddress.TryParse(ip, out var address))
            {
                return Usage(error, program, $"--ip '{ip}' is not an IP address");
            }

            addresses.Add(address);
        }

        foreach (var dns in options.DnsNames)
        {
            if (Uri.CheckHostName(dns.StartsWith("*.", StringComparison.Ordinal) ? dns[2..] : dns) != UriHostNameType.Dns)
            {
                return Usage(error, program, $"--dns '{dns}' is not a DNS name");
            }
        }

        CertificateAuthority ca;
        try
        {
            ca = CertificateAuthority.LoadFrom(options.Ca!);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            error.WriteLine($"certs issue: cannot load the CA from {options.Ca} ({CertificateAuthority.CertificateFileName} and {CertificateAuthority.KeyFileName}): {ex.Message}");
            return Failure;
        }

        using (ca)
        {
            var now = time.GetUtcNow();
            var caNotBefore = new DateTimeOffset(ca.Certificate.NotBefore.ToUniversalTime());
            var caNotAfter = new DateTimeOffset(ca.Certificate.NotAfter.ToUniversalTime());
            if (now >= caNotAfter)
            {
                error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"certs issue: the CA in {options.Ca} expired at {caNotAfter:u}; create a new one with certs ca."));
                return Failure;
            }

            var notBefore = now - ClockSkew < caNotBefore ? caNotBefore : now - ClockSkew;
            var notAfter = now.AddDays(days);
            if (notAfter > caNotAfter)
            {
                // A certificate cannot outlive its issuer; say so rather than fail.
                notAfter = caNotAfter;
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"note: the CA expires at {caNotAfter:u}, so the certificate does too (not in {days} days)."));
            }

            try
            {
                using var issued = ca.Issue(options.Name!, addresses, options.DnsNames, notBefore, notAfter);
                foreach (var path in issued.WriteTo(options.Out!, ca.CertificatePem, options.Force))
                {
                    output.WriteLine($"wrote {path}");
                }

                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"certificate '{issued.Certificate.Subject}' serial {issued.Certificate.SerialNumber} valid until {issued.Certificate.NotAfter.ToUniversalTime():u}."));
                return Success;
            }
            catch (CertificateFilesExistException ex)
            {
                error.WriteLine($"certs issue: {ex.Message}; pass --force to overwrite.");
                return Failure;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                error.WriteLine($"certs issue: cannot write to {options.Out}: {ex.Message}");
                return Failure;
            }
        }
    }

    private static bool TryDays(Options options, int fallback, out int days, out string problem)
    {
        days = fallback;
        problem = "";
        if (options.Days is null)
        {
            return true;
        }

        if (!int.TryParse(options.Days, NumberStyles.None, CultureInfo.InvariantCulture, out days) || days is < 1 or > MaxDays)
        {
            problem = $"--days '{options.Days}' must be a whole number of days from 1 to {MaxDays}";
            return false;
        }

        return true;
    }

    private static bool TryParse(IEnumerable<string> args, out Options options, out string problem)
    {
        options = new Options();
        problem = "";
        using var e = args.GetEnumerator();
        while (e.MoveNext())
        {
            var arg = e.Current;
            string? value = null;
            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            if (arg.StartsWith("--", StringComparison.Ordinal) && equals > 0)
            {
                (arg, value) = (arg[..equals], arg[(equals + 1)..]);
            }

            switch (arg)
            {
                case "--force":
                    options.Force = true;
                    options.Seen.Add(arg);
                    continue;
                case "--help" or "-h":
                    options.Help = true;
                    continue;
                case "--out" or "--ca" or "--name" or "--days" or "--ip" or "--dns":
                    break;
                default:
                    problem = $"unknown argument '{e.Current}'";
                    return false;
            }

            if (value is null)
            {
                if (!e.MoveNext() || e.Current.StartsWith("--", StringComparison.Ordinal))
                {
                    problem = $"{arg} needs a value";
                    return false;
                }

                value = e.Current;
            }

            if (value.Length == 0)
            {
                problem = $"{arg} needs a value";
                return false;
            }

            options.Seen.Add(arg);
            switch (arg)
            {
                case "--ip": options.Ips.Add(value); break;
                case "--dns": options.DnsNames.Add(value); break;
                case "--out": options.Out = value; break;
                case "--ca": options.Ca = value; break;
                case "--name": options.Name = value; break;
                case "--days": options.Days = value; break;
            }
        }

        return true;
    }

    private static int Usage(TextWriter error, string program, string problem)
    {
        error.WriteLine($"certs: {problem}");
        error.Write(Usage(program));
        return UsageError;
    }

    private static string Usage(string program) => $"""
        Usage:
          {program} certs ca --out DIR [--name NAME] [--days N] [--force]
              Creates a cluster CA: DIR/{CertificateAuthority.CertificateFileName} and DIR/{CertificateAuthority.KeyFileName} (mode 0600; keep it off the nodes).
              --name  the CA's common name (default "{CertificateAuthority.DefaultName}"); --days  validity (default {DefaultCaDays}).
              Refuses to replace an existing CA unless --force.
          {program} certs issue --ca DIR --name NODE --out DIR [--ip IP ...] [--dns NAME ...] [--days N] [--force]
              Issues a certificate for one agent or scheduler, signed by the CA in --ca: DIR/{IssuedCertificate.CertificateFileName},
              DIR/{IssuedCertificate.KeyFileName} (mode 0600) and DIR/{CertificateAuthority.CertificateFileName} (ECDSA P-256, serverAuth + clientAuth).
              --ip, --dns  subject alternative names (optional, repeatable; peers check the CA, not names);
              --days  validity (default {DefaultIssueDays}, at most the CA's). Refuses to overwrite unless --force.
          Then run with --Tls:CaFile=DIR/{CertificateAuthority.CertificateFileName} --Tls:CertFile=DIR/{IssuedCertificate.CertificateFileName} --Tls:KeyFile=DIR/{IssuedCertificate.KeyFileName}.
        Exit status: 0 written, 1 refused or failed, 2 usage error.

        """;

    private sealed class Options
    {
        public string? Out { get; set; }

        public string? Ca { get; set; }

        public string? Name { get; set; }

        public string? Days { get; set; }

        public bool Force { get; set; }

        public bool Help { get; set; }

        public List<string> Ips { get; } = [];

        public List<string> DnsNames { get; } = [];

        public HashSet<string> Seen { get; } = new(StringComparer.Ordinal);

        /// <summary>An argument given that <paramref name="command"/> does not take, e.g. <c>--ip</c> for <c>ca</c>.</summary>
        public string? Unexpected(string command, params string[] allowed)
        {
            var extra = Seen.Where(s => !allowed.Contains(s, StringComparer.Ordinal)).Order(StringComparer.Ordinal).ToList();
            return extra.Count == 0 ? null : $"certs {command} does not take {string.Join(", ", extra)}";
        }
    }
}
