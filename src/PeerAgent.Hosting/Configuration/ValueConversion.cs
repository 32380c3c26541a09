using System.ComponentModel;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Numerics;

namespace PeerAgent.Hosting.Configuration;

/// <summary>
/// Tries a configuration value with the converter the configuration binder itself uses (<see cref="TypeDescriptor"/>,
/// invariant culture), so a value accepted here is a value the binder accepts, and says in words why one is not.
/// </summary>
internal static class ValueConversion
{
    /// <summary>Whether the binder binds a value of this type from a string, not from child keys.</summary>
    public static bool IsLeaf(Type type)
    {
        var target = Nullable.GetUnderlyingType(type) ?? type;
        return target == typeof(string) || target == typeof(object) || TypeDescriptor.GetConverter(target).CanConvertFrom(typeof(string));
    }

    /// <summary>True when <paramref name="text"/> converts to <paramref name="type"/>; else <paramref name="reason"/>, e.g. "is not a whole number".</summary>
    public static bool TryConvert(string text, Type type, [NotNullWhen(false)] out string? reason)
    {
        reason = null;
        var target = Nullable.GetUnderlyingType(type);
        if (target is not null && text.Length == 0)
        {
            return true; // the binder reads an empty value as null
        }

        target ??= type;
        if (target == typeof(string) || target == typeof(object))
        {
            return true;
        }

        try
        {
            _ = TypeDescriptor.GetConverter(target).ConvertFromInvariantString(text);
            return true;
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or NotSupportedException or OverflowException)
        {
            reason = Describe(text, target);
            return false;
        }
    }

    private static string Describe(string text, Type type)
    {
        if (type == typeof(bool))
        {
            return "is not true or false";
        }

        if (type == typeof(TimeSpan))
        {
            return "is not a time span such as 00:00:10 (hh:mm:ss)";
        }

        if (type.IsEnum)
        {
            return "is not one of " + string.Join(", ", Enum.GetNames(type));
        }

        if (type == typeof(double) || type == typeof(float) || type == typeof(decimal))
        {
            return "is not a number";
        }

        if (type == typeof(int) || type == typeof(long) || type == typeof(short) || type == typeof(byte)
            || type == typeof(uint) || type == typeof(ulong) || type == typeof(ushort) || type == typeof(sbyte))
        {
            if (BigInteger.TryParse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out _))
            {
                var min = Convert.ToString(type.GetField("MinValue")!.GetValue(null), CultureInfo.InvariantCulture);
                var max = Convert.ToString(type.GetField("MaxValue")!.GetValue(null), CultureInfo.InvariantCulture);
                return $"is out of range ({min} to {max})";
            }

            return "is not a whole number";
        }

        return "cannot be read as " + type.Name;
    }
}
