using System.Text.Json;
using System.Text.Json.Serialization;
using Monitoring.Api.Contracts;
using Monitoring.Api.Problems;

namespace Monitoring.Tests.Rules;

/// <summary>The rules in examples/rules are what the README tells users to load: each must be a valid rule.</summary>
public sealed class ExampleRulesTests
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    public static TheoryData<string> Files() =>
        new(Directory.GetFiles(Support.Repository.PathTo("examples", "rules"), "*.json").Order());

    [Theory]
    [MemberData(nameof(Files))]
    public void Each_example_rule_is_valid(string file)
    {
        var request = JsonSerializer.Deserialize<RuleRequest>(File.ReadAllText(file), Options)!;
        var errors = new RequestErrors();

        var rule = request.ToRule(null, DateTimeOffset.UtcNow, errors);

        Assert.False(errors.Any, string.Join("; ", errors.ToArray().Select(e => $"{e.Field}: {e.Message}")));
        Assert.Equal(Path.GetFileNameWithoutExtension(file), rule!.Id);
        Assert.Equal(["ops"], rule.Channels);
    }
}
