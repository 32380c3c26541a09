using System.Globalization;
using System.Text;

namespace PeerAgent.Testing;

/// <summary>One sample of the Prometheus text exposition format.</summary>
public sealed record MetricSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value)
{
    public override string ToString() =>
        Labels.Count == 0 ? $"{Name} {Value}" : $"{Name}{{{string.Join(',', Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}=\"{l.Value}\""))}}} {Value}";
}

/// <summary>A parsed scrape of a /metrics endpoint.</summary>
public sealed class PrometheusMetrics
{
    private PrometheusMetrics(string text, IReadOnlyList<MetricSample> samples)
    {
        Text = text;
        Samples = samples;
    }

    /// <summary>The raw exposition text.</summary>
    public string Text { get; }

    public IReadOnlyList<MetricSample> Samples { get; }

    /// <summary>The value of the one series with exactly these labels, or null.</summary>
    public double? Get(string name, params (string Label, string Value)[] labels)
    {
        foreach (var sample in Samples)
        {
            if (sample.Name == name && sample.Labels.Count == labels.Length && Matches(sample, labels))
            {
                return sample.Value;
            }
        }

        return null;
    }

    /// <summary>The sum over all series of <paramref name="name"/> whose labels include <paramref name="match"/>; 0 when none.</summary>
    public double Sum(string name, params (string Label, string Value)[] match)
    {
        double sum = 0;
        foreach (var sample in Samples)
        {
            if (sample.Name == name && Matches(sample, match))
            {
                sum += sample.Value;
            }
        }

        return sum;
    }

    public bool Has(string name) => Samples.Any(s => s.Name == name);

    /// <summary>The samples of one metric, for failure messages.</summary>
    public string Describe(string namePrefix) =>
        string.Join('\n', Samples.Where(s => s.Name.StartsWith(namePrefix, StringComparison.Ordinal)));

    public static PrometheusMetrics Parse(string text)
    {
        var samples = new List<MetricSample>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            samples.Add(ParseLine(line));
        }

        return new PrometheusMetrics(text, samples);
    }

    private static bool Matches(MetricSample sample, (string Label, string Value)[] match)
    {
        foreach (var (label, value) in match)
        {
            if (!sample.Labels.TryGetValue(label, out var actual) || actual != value)
            {
                return false;
            }
        }

        return true;
    }

    private static MetricSample ParseLine(string line)
    {
        var i = 0;
        while (i < line.Length && line[i] != '{' && line[i] != ' ' && line[i] != '\t')
        {
            i++;
        }

        var name = line[..i];
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (i < line.Length && line[i] == '{')
        {
            i++;
            while (true)
            {
                while (i < line.Length && (line[i] == ',' || line[i] == ' '))
                {
                    i++;
                }

                if (i >= line.Length)
                {
                    throw new FormatException($"Unterminated labels: {line}");
                }

                if (line[i] == '}')
                {
                    i++;
                    break;
                }

                var eq = line.IndexOf('=', i);
                if (eq < 0 || eq + 1 >= line.Length || line[eq + 1] != '"')
                {
                    throw new FormatException($"Bad label in: {line}");
                }

                var key = line[i..eq].Trim();
                i = eq + 2;
                var value = new StringBuilder();
                while (i < line.Length && line[i] != '"')
                {
                    if (line[i] == '\\' && i + 1 < line.Length)
                    {
                        i++;
                        value.Append(line[i] switch { 'n' => '\n', _ => line[i] });
                    }
                    else
                    {
                        value.Append(line[i]);
                    }

                    i++;
                }

                i++;
                labels[key] = value.ToString();
            }
        }

        var rest = line[i..].Trim().Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        if (rest.Length == 0)
        {
            throw new FormatException($"No value in: {line}");
        }

        var number = rest[0] switch
        {
            "+Inf" => double.PositiveInfinity,
            "-Inf" => double.NegativeInfinity,
            "NaN" => double.NaN,
            var v => double.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture),
        };
        return new MetricSample(name, labels, number);
    }
}
