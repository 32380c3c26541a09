using System.Formats.Tar;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace PeerAgent.Testing;

/// <summary>A content-addressed blob of a test image.</summary>
public sealed record BlobInfo(string Digest, long Size, string MediaType)
{
    /// <summary>The hex part of the digest.</summary>
    public string Hex => Digest["sha256:".Length..];
}

/// <summary>An image that exists in a registry, with everything a test needs to check a pull.</summary>
public sealed record TestImage(
    string RegistryHost,
    string Repository,
    string Tag,
    string ManifestDigest,
    byte[] Manifest,
    string ManifestMediaType,
    BlobInfo Config,
    IReadOnlyList<BlobInfo> Layers,
    string LayoutDirectory)
{
    /// <summary>Config and layers.</summary>
    public IReadOnlyList<BlobInfo> Blobs => [Config, .. Layers];

    /// <summary>Layers plus config: what a full pull must transfer as blobs.</summary>
    public long TotalBlobBytes => Blobs.Sum(b => b.Size);

    /// <summary>"host/repo:tag" as containerd names it.</summary>
    public string Reference => $"{RegistryHost}/{Repository}:{Tag}";

    public BlobInfo LargestLayer => Layers.MaxBy(l => l.Size)!;

    /// <summary>Reads a blob's bytes from the OCI layout the image was built in.</summary>
    public byte[] ReadBlob(BlobInfo blob) => File.ReadAllBytes(Path.Combine(LayoutDirectory, "blobs", "sha256", blob.Hex));
}

/// <summary>
/// Builds an OCI image with random (incompressible) layers in an OCI layout written directly from C#, then
/// pushes it with <c>skopeo copy oci:DIR:TAG docker://127.0.0.1:PORT/REPO:TAG</c>.
/// </summary>
/// <remarks>
/// skopeo 1.9 keeps the OCI manifest and the gzip layers byte for byte when pushing to docker-registry 2.8,
/// so the digests computed here are the ones the registry serves (checked after the push).
/// Writing the layout ourselves is faster than umoci (no unpack/repack) and gives exact layer sizes.
/// </remarks>
public static class TestImageBuilder
{
    public const string ManifestMediaType = "application/vnd.oci.image.manifest.v1+json";
    public const string LayerMediaType = "application/vnd.oci.image.layer.v1.tar+gzip";
    public const string ConfigMediaType = "application/vnd.oci.image.config.v1+json";

    /// <summary>1 MiB, 5 MiB and 12 MiB: the largest spans several 4 MiB pieces.</summary>
    public static readonly long[] DefaultLayerSizes = [1L << 20, 5L << 20, 12L << 20];

    /// <summary>Builds an image whose layers hold <paramref name="layerSizes"/> random bytes each and pushes it.</summary>
    public static async Task<TestImage> BuildAndPushAsync(
        RegistryProcess registry,
        TempDir workDir,
        string repository = "test/app",
        string tag = "v1",
        IReadOnlyList<long>? layerSizes = null)
    {
        var layout = Path.Combine(workDir.Path, $"layout-{Guid.NewGuid():N}"[..19]);
        var image = await WriteLayoutAsync(layout, registry.Endpoint, repository, tag, layerSizes ?? DefaultLayerSizes);
        await PushAsync(image, registry);
        return image;
    }

    /// <summary>Pushes an image's layout to <paramref name="registry"/> under the same repository and tag and checks the manifest digest.</summary>
    public static async Task PushAsync(TestImage image, RegistryProcess registry)
    {
        var args = new List<string> { "--insecure-policy", "copy", "--quiet", "--dest-tls-verify=false" };
        if (registry.RequiresAuth)
        {
            args.Add($"--dest-creds={registry.Options.User}:{registry.Options.Password}");
        }

        args.Add($"oci:{image.LayoutDirectory}:{image.Tag}");
        args.Add($"docker://{registry.Endpoint}/{image.Repository}:{image.Tag}");
        await ProcessRunner.RunAsync("skopeo", args, TimeSpan.FromMinutes(2));

        using var client = registry.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"v2/{image.Repository}/manifests/{image.Tag}");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(ManifestMediaType));
        using var response = await client.SendAsync(request);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"GET manifest after push answered {(int)response.StatusCode}.");
        }

        var served = await response.Content.ReadAsByteArrayAsync();
        var servedDigest = Sha256Digest(served);
        if (servedDigest != image.ManifestDigest)
        {
            throw new InvalidOperationException($"The registry serves manifest {servedDigest}, expected {image.ManifestDigest}: the push rewrote it.");
        }

        await registry.ResetAsync();
    }

    /// <summary>Writes an OCI image layout with random layers; does not push.</summary>
    public static async Task<TestImage> WriteLayoutAsync(string layout, string registryHost, string repository, string tag, IReadOnlyList<long> layerSizes)
    {
        var blobsDir = Directory.CreateDirectory(Path.Combine(layout, "blobs", "sha256")).FullName;
        var layers = new List<BlobInfo>();
        var diffIds = new JsonArray();
        for (var i = 0; i < layerSizes.Count; i++)
        {
            var (layer, diffId) = await WriteLayerAsync(blobsDir, i, layerSizes[i]);
            layers.Add(layer);
            diffIds.Add(diffId);
        }

        var config = new JsonObject
        {
            ["architecture"] = GoArch(),
            ["os"] = "linux",
            ["config"] = new JsonObject { ["Cmd"] = new JsonArray("/bin/true"), ["Labels"] = new JsonObject { ["peeragent.test"] = Guid.NewGuid().ToString("N") } },
            ["rootfs"] = new JsonObject { ["type"] = "layers", ["diff_ids"] = diffIds },
        };
        var configBytes = JsonSerializer.SerializeToUtf8Bytes(config);
        var configBlob = WriteBlob(blobsDir, configBytes, ConfigMediaType);

        var layerArray = new JsonArray();
        foreach (var layer in layers)
        {
            layerArray.Add(Descriptor(layer));
        }

        var manifest = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = ManifestMediaType,
            ["config"] = Descriptor(configBlob),
            ["layers"] = layerArray,
        };
        var manifestBytes = JsonSerializer.SerializeToUtf8Bytes(manifest);
        var manifestBlob = WriteBlob(blobsDir, manifestBytes, ManifestMediaType);

        var manifestDescriptor = Descriptor(manifestBlob);
        manifestDescriptor["annotations"] = new JsonObject { ["org.opencontainers.image.ref.name"] = tag };
        var index = new JsonObject { ["schemaVersion"] = 2, ["manifests"] = new JsonArray(manifestDescriptor) };
        await File.WriteAllBytesAsync(Path.Combine(layout, "index.json"), JsonSerializer.SerializeToUtf8Bytes(index));
        await File.WriteAllTextAsync(Path.Combine(layout, "oci-layout"), """{"imageLayoutVersion":"1.0.0"}""");

        return new TestImage(registryHost, repository, tag, manifestBlob.Digest, manifestBytes, ManifestMediaType, configBlob, layers, layout);
    }

    public static string Sha256Digest(ReadOnlySpan<byte> data) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(data));

    public static async Task<string> Sha256DigestOfFileAsync(string path)
    {
        await using var stream = File.OpenRead(path);
        return "sha256:" + Convert.ToHexStringLower(await SHA256.HashDataAsync(stream));
    }

    private static async Task<(BlobInfo Layer, string DiffId)> WriteLayerAsync(string blobsDir, int index, long size)
    {
        var tmp = Path.Combine(blobsDir, $"tmp-{Guid.NewGuid():N}");
        string diffId;
        await using (var file = File.Create(tmp))
        {
            using var tarHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            await using (var gzip = new GZipStream(file, CompressionLevel.Fastest, leaveOpen: true))
            await using (var hashing = new HashingStream(gzip, tarHash))
            {
                var random = new Random();
                var content = new byte[size];
                random.NextBytes(content);
                await using var tar = new TarWriter(hashing, TarEntryFormat.Pax, leaveOpen: true);
                await tar.WriteEntryAsync(new PaxTarEntry(TarEntryType.Directory, "data/") { Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute });
                var entry = new PaxTarEntry(TarEntryType.RegularFile, $"data/layer{index}.bin")
                {
                    Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
                    DataStream = new MemoryStream(content, writable: false),
                };
                await tar.WriteEntryAsync(entry);
            }

            diffId = "sha256:" + Convert.ToHexStringLower(tarHash.GetHashAndReset());
        }

        var digest = await Sha256DigestOfFileAsync(tmp);
        var target = Path.Combine(blobsDir, digest["sha256:".Length..]);
        File.Move(tmp, target, overwrite: true);
        return (new BlobInfo(digest, new FileInfo(target).Length, LayerMediaType), diffId);
    }

    private static BlobInfo WriteBlob(string blobsDir, byte[] bytes, string mediaType)
    {
        var digest = Sha256Digest(bytes);
        File.WriteAllBytes(Path.Combine(blobsDir, digest["sha256:".Length..]), bytes);
        return new BlobInfo(digest, bytes.Length, mediaType);
    }

    private static JsonObject Descriptor(BlobInfo blob) => new()
    {
        ["mediaType"] = blob.MediaType,
        ["digest"] = blob.Digest,
        ["size"] = blob.Size,
    };

    private static string GoArch() => RuntimeInformation.OSArchitecture switch
    {
        Architecture.X64 => "amd64",
        Architecture.Arm64 => "arm64",
        Architecture.Arm => "arm",
        Architecture.X86 => "386",
        Architecture.S390x => "s390x",
        Architecture.Ppc64le => "ppc64le",
        _ => "amd64",
    };

    /// <summary>Write-only pass-through that hashes what is written (the uncompressed tar, for the diff ID).</summary>
    private sealed class HashingStream(Stream inner, IncrementalHash hash) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            hash.AppendData(buffer);
            inner.Write(buffer);
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            hash.AppendData(buffer.Span);
            await inner.WriteAsync(buffer, cancellationToken);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }
}
