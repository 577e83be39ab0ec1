{#-
    HMAC-SHA-256 of a text expression, hex, with the key `elt load` stores as its two padded
    keys (source elt.email_hash_key; elt/loader/hash_key.py):
    sha256(outer_pad || sha256(inner_pad || text)). The same digest on both databases (a
    test checks it against Python's hmac), and the key never appears in SQL.
    `key` is the alias of a relation holding inner_pad and outer_pad (cross-joined).
-#}
{% macro keyed_hash(expression, key) -%}
    {{ return(adapter.dispatch('keyed_hash')(expression, key)) }}
{%- endmacro %}

{% macro default__keyed_hash(expression, key) -%}
    sha256({{ key }}.outer_pad || unhex(sha256({{ key }}.inner_pad || encode({{ expression }}))))
{%- endmacro %}

{% macro spark__keyed_hash(expression, key) -%}
    sha2(concat({{ key }}.outer_pad, unhex(sha2(concat({{ key }}.inner_pad, encode({{ expression }}, 'UTF-8')), 256))), 256)
{%- endmacro %}

{% macro postgres__keyed_hash(expression, key) -%}
    encode(sha256({{ key }}.outer_pad || sha256({{ key }}.inner_pad || convert_to({{ expression }}, 'UTF8'))), 'hex')
{%- endmacro %}
