-- dim_customer hashes emails with the one key `elt load` stores (elt/loader/hash_key.py):
-- without exactly one, its cross join would lose every customer or double them.

select count(*) as keys_stored
from {{ source('elt', 'email_hash_key') }}
having count(*) != 1
