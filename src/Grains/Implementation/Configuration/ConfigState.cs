namespace Monitoring.Configuration;

[GenerateSerializer, Alias("mcp.ConfigState")]
public sealed class ConfigState
{
    [Id(0), JsonPropertyName("Namespaces")] public Dictionary<string, ConfigNamespace> Namespaces { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The apply under way: written before its first resource is, cleared after its last.</summary>
    [Id(1), JsonPropertyName("Pending")] public ConfigApply? Pending { get; set; }
}
