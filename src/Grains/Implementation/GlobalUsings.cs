global using Orleans;
global using Orleans.Concurrency;
global using Orleans.Runtime;
global using Microsoft.Extensions.Logging;
global using System.Text.Json.Serialization;
