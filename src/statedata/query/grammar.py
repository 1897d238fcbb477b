"""The SoQL grammar (SODA 2.1 read language) for Lark's LALR parser, one start rule a clause.

Only the text of the language lives here; turning parse trees into query nodes is parser.py.
"""

from __future__ import annotations

GRAMMAR = r"""
start_select: select_clause
start_where: expr
start_order: order_list
start_group: expr_list
start_query: [SELECT select_clause] [where] [group] [having] [order] [limit] [offset] [search]

where: WHERE expr
group: GROUP BY expr_list
having: HAVING expr
order: ORDER BY order_list
limit: LIMIT NUMBER
offset: OFFSET NUMBER
search: SEARCH STRING

select_clause: [DISTINCT] select_item ("," select_item)*
select_item: "*"                    -> select_star
           | SYSTEM_STAR            -> select_system_star
           | expr [AS name]         -> select_expr

order_list: order_item ("," order_item)*
order_item: expr [direction] [nulls]
direction: ASC | DESC
nulls: (NULL | NULLS) (FIRST | LAST)

expr_list: expr ("," expr)*

?expr: or_expr
?or_expr: and_expr
        | or_expr OR and_expr                   -> or_
?and_expr: not_expr
         | and_expr AND not_expr                -> and_
?not_expr: predicate
         | NOT not_expr                         -> not_
?predicate: concat
          | concat COMPARE concat               -> compare
          | concat IS NULL                      -> is_null
          | concat IS NOT NULL                  -> is_not_null
          | concat BETWEEN concat AND concat    -> between
          | concat NOT BETWEEN concat AND concat -> not_between
          | concat IN "(" expr_list ")"         -> in_
          | concat NOT IN "(" expr_list ")"     -> not_in
          | concat LIKE concat                  -> like
          | concat NOT LIKE concat              -> not_like
?concat: sum
       | concat CONCAT sum                      -> binary
?sum: product
    | sum ADD product                           -> binary
    | sum SUB product                           -> binary
?product: unary
        | product MUL unary                     -> binary
?unary: atom
      | SUB unary                               -> negate
      | ADD unary                               -> plus
?atom: name                                     -> column
     | NUMBER                                   -> number
     | STRING                                   -> string
     | TRUE                                     -> true
     | FALSE                                    -> false
     | NULL                                     -> null
     | IDENT "(" ")"                            -> call
     | IDENT "(" call_star ")"                  -> call
     | IDENT "(" DISTINCT expr ")"              -> call_distinct
     | IDENT "(" expr_list ")"                  -> call
     | "(" expr ")"
call_star: "*"

name: IDENT | QUOTED | SYSTEM

COMPARE: "=" | "!=" | "<>" | "<=" | ">=" | "<" | ">"
CONCAT: "||"
ADD: "+"
SUB: "-"
MUL: "*" | "/" | "%"

SELECT: "select"i
WHERE: "where"i
GROUP: "group"i
HAVING: "having"i
ORDER: "order"i
BY: "by"i
LIMIT: "limit"i
OFFSET: "offset"i
SEARCH: "search"i
DISTINCT: "distinct"i
AS: "as"i
ASC: "asc"i
DESC: "desc"i
NULLS: "nulls"i
FIRST: "first"i
LAST: "last"i
AND: "and"i
OR: "or"i
NOT: "not"i
IS: "is"i
IN: "in"i
LIKE: "like"i
BETWEEN: "between"i
TRUE: "true"i
FALSE: "false"i
NULL: "null"i

SYSTEM_STAR: ":*"
SYSTEM: /:@?[A-Za-z_][A-Za-z0-9_]*/
IDENT: /[A-Za-z_][A-Za-z0-9_]*/
QUOTED: /`[^`]+`/
STRING: /'(?:[^']|'')*'/ | /"(?:[^"]|"")*"/
NUMBER: /(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/

%import common.WS
%ignore WS
"""

STARTS = ["start_select", "start_where", "start_order", "start_group", "start_query"]
