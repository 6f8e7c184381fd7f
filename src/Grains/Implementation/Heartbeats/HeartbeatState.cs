namespace Monitoring.Heartbeats;

/// <summary>A heartbeat check as stored: the check, its pings, its token's hash and what its alert last said.</summary>
[GenerateSerializer, Alias("mcp.HeartbeatState")]
public sealed class HeartbeatState
{
    [Id(0), JsonPropertyName("Check")] public HeartbeatCheck? Check { get; set; }
    [Id(1), JsonPropertyName("CreatedAt")] public DateTimeOffset CreatedAt { get; set; }
    [Id(2), JsonPropertyName("LastSuccess")] public HeartbeatPing? LastSuccess { get; set; }
    [Id(3), JsonPropertyName("LastPing")] public HeartbeatPing? LastPing { get; set; }
    [Id(4), JsonPropertyName("Paused")] public bool Paused { get; set; }

    /// <summary>The latest pings, newest last (at most <see cref="HeartbeatGrain.KeptPings"/>).</summary>
    [Id(5), JsonPropertyName("Pings")] public List<HeartbeatPing> Pings { get; set; } = [];

    [Id(6), JsonPropertyName("TokenHash")] public string? TokenHash { get; set; }

    /// <summary>Since when its alert fires (null while it does not), and when it was last said.</summary>
    [Id(7), JsonPropertyName("FiringSince")] public DateTimeOffset? FiringSince { get; set; }
    [Id(8), JsonPropertyName("SaidAt")] public DateTimeOffset? SaidAt { get; set; }

    /// <summary>Raised with each change of what the listing shows.</summary>
    [Id(9), JsonPropertyName("Version")] public long Version { get; set; }

    /// <summary>The labels its alert was last said with: a change of the check's labels ends the old alert.</summary>
    [Id(10), JsonPropertyName("SaidLabels")] public Dictionary<string, string>? SaidLabels { get; set; }
}
