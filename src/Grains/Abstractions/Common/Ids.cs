using System.Text.RegularExpressions;

namespace Monitoring.Common;

/// <summary>Identifiers of servers, rules and channels: short, URL-safe, and never containing ':' (alert ids use it).</summary>
public static partial class Ids
{
    public const int MaxLength = 128;

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
    private static partial Regex Pattern();

    public static bool IsValid(string? id) => id is not null && Pattern().IsMatch(id);

    public static string Describe => "1-128 characters: letters, digits, '.', '_' or '-', starting with a letter or digit";
}
