using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Monitoring.Tests.Api;

public static class ApiTestExtensions
{
    public static Task<HttpResponseMessage> PostJsonAsync(this HttpClient http, string url, string json) =>
        http.PostAsync(url, new StringContent(json, Encoding.UTF8, "application/json"));

    public static Task<HttpResponseMessage> PutJsonAsync(this HttpClient http, string url, string json) =>
        http.PutAsync(url, new StringContent(json, Encoding.UTF8, "application/json"));

    public static async Task<JsonElement> JsonAsync(this HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonElement>());

    /// <summary>Asserts a problem+json answer with this status, and answers its detail.</summary>
    public static async Task<string> AssertProblemAsync(this HttpResponseMessage response, int status)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"expected {status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(body);
        Assert.Equal(status, document.RootElement.GetProperty("status").GetInt32());
        return document.RootElement.TryGetProperty("detail", out var detail) ? detail.GetString() ?? "" : "";
    }
}
