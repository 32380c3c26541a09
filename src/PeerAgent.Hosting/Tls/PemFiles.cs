namespace PeerAgent.Hosting.Tls;

/// <summary>Writes PEM files the way a reloading reader wants them: whole (temp file, then rename) and keys 0600.</summary>
internal static class PemFiles
{
    /// <exception cref="CertificateFilesExistException">Any of <paramref name="paths"/> exists and <paramref name="force"/> is false.</exception>
    public static void RefuseExisting(bool force, params string[] paths)
    {
        if (force)
        {
            return;
        }

        var existing = paths.Where(File.Exists).ToList();
        if (existing.Count > 0)
        {
            throw new CertificateFilesExistException(existing);
        }
    }

    public static void Write(string path, string content, bool secret)
    {
        var temporary = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            // Created with its final mode: a private key is never readable by others, not even for a moment.
            options.UnixCreateMode = secret
                ? UnixFileMode.UserRead | UnixFileMode.UserWrite
                : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        }

        try
        {
            using (var stream = new FileStream(temporary, options))
            using (var writer = new StreamWriter(stream))
            {
                writer.Write(content);
                writer.Flush();
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }
}
