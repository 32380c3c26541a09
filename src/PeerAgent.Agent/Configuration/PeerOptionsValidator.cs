using PeerAgent.Agent.Peers;
using PeerAgent.Core.Hosting;
using PeerAgent.Hosting.Configuration;

namespace PeerAgent.Agent.Configuration;

/// <summary>Checks <see cref="PeerOptions"/>: the listener, the advertised address, and the download and upload limits.</summary>
internal sealed class PeerOptionsValidator : OptionsValidator<PeerOptions>
{
    private const string Section = PeerOptions.Section;

    protected override void Validate(PeerOptions options, ICollection<string> errors)
    {
        if (!ListenEndpoint.TryParse(options.ListenUrl, allowHttps: true, out var error, out _))
        {
            errors.Add($"{Section}:ListenUrl {error}.");
        }

        if (!string.IsNullOrEmpty(options.AdvertiseUrl)
            && (!Uri.TryCreate(options.AdvertiseUrl, UriKind.Absolute, out var advertise)
                || (advertise.Scheme != Uri.UriSchemeHttp && advertise.Scheme != Uri.UriSchemeHttps)
                || advertise.Port <= 0 || advertise.AbsolutePath != "/"))
        {
            errors.Add($"{Section}:AdvertiseUrl '{options.AdvertiseUrl}' is not an http(s)://host:port URL.");
        }

        if (options.MaxPiecesInFlight is < 1 or > 64)
        {
            errors.Add($"{Section}:MaxPiecesInFlight must be in [1, 64], not {options.MaxPiecesInFlight}.");
        }

        if (options.PieceTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{Section}:PieceTimeout must be positive, not {options.PieceTimeout}.");
        }

        if (options.StallTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{Section}:StallTimeout must be positive, not {options.StallTimeout}.");
        }

        if (options.ChunkBytes is < PeerOptions.MinChunkBytes or > PeerOptions.MaxChunkBytes)
        {
            errors.Add($"{Section}:ChunkBytes must be in [{PeerOptions.MinChunkBytes}, {PeerOptions.MaxChunkBytes}], not {options.ChunkBytes}.");
        }

        if (options.MaxConcurrentUploads <= 0)
        {
            errors.Add($"{Section}:MaxConcurrentUploads must be positive, not {options.MaxConcurrentUploads}.");
        }

        if (options.MaxQueuedUploads < 0)
        {
            errors.Add($"{Section}:MaxQueuedUploads must be 0 or more, not {options.MaxQueuedUploads}.");
        }

        if (options.UploadBytesPerSecond < 0)
        {
            errors.Add($"{Section}:UploadBytesPerSecond must be 0 (unlimited) or more, not {options.UploadBytesPerSecond}.");
        }
    }
}
