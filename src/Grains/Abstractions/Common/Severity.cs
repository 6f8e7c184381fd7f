namespace Monitoring.Common;

/// <summary>The seed's severity levels, lowest first.</summary>
public enum Severity
{
    Info,
    Warning,
    Critical,
    Emergency,
}
