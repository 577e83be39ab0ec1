{#- The email hash key as HMAC's two padded keys (a secret: for keyed_hash, never for analysts). -#}
with

source as (

    select * from {{ source('elt', 'email_hash_key') }}

),

renamed as (

    select
        key_id,
        inner_pad,
        outer_pad
    from source

)

select * from renamed
