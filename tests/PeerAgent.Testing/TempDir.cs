namespace PeerAgent.Testing;

/// <summary>A unique directory under /tmp/peeragent-tests, deleted (best effort) on Dispose.</summary>
public sealed class TempDir : IDisposable
{
    public const string RootPath = "/tmp/peeragent-tests";

    public TempDir(string? prefix = null)
    {
        // Kept short: containerd's unix sockets live in here and socket paths are limited to 108 bytes.
        var name = $"{prefix ?? "t"}-{Guid.NewGuid():N}"[..((prefix ?? "t").Length + 13)];
        Path = System.IO.Path.Combine(RootPath, name);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    /// <summary>Returns Path/relative, creating the directory.</summary>
    public string Sub(string relative)
    {
        var dir = System.IO.Path.Combine(Path, relative);
        Directory.CreateDirectory(dir);
        return dir;
    }

    public string File(string relative) => System.IO.Path.Combine(Path, relative);

    public override string ToString() => Path;

    public void Dispose()
    {
        if (Environment.GetEnvironmentVariable("PEERAGENT_KEEP_TEST_DIRS") == "1")
        {
            return;
        }

        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: e.g. a mount left behind by a killed containerd.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
